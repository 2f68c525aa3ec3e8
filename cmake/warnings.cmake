# The house warning set (STYLE.md), sanitizers and hardening per build type.
set(LOYALTY_WARNINGS
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
  -Wundef -Wvla -Wswitch-enum -Wpointer-arith -Wcast-qual -Wwrite-strings
  -Wold-style-definition -Wnull-dereference -Wimplicit-fallthrough
  -Wno-missing-field-initializers)
add_compile_options(${LOYALTY_WARNINGS})
if(LOYALTY_WERROR)
  add_compile_options(-Werror)
endif()
if(LOYALTY_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()
if(CMAKE_BUILD_TYPE STREQUAL "Release")
  add_compile_definitions(_FORTIFY_SOURCE=2)
  add_compile_options(-fstack-protector-strong)
endif()
if(LOYALTY_FUZZ)
  # coverage instrumentation for every library the fuzz targets link
  add_compile_options(-fsanitize=fuzzer-no-link)
  add_link_options(-fsanitize=fuzzer-no-link)
endif()
