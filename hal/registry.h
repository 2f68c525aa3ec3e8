/* registry: find a driver's ops by name in a module's table (internal to hal/). */
#pragma once

#include <errno.h>
#include <string.h>

#define HAL_REGISTRY_FIND(table, name, var)                                                        \
	const __typeof__(*(table)[0]) *var = NULL;                                                 \
	for (size_t i_ = 0; i_ < sizeof(table) / sizeof((table)[0]); i_++) {                       \
		if ((name) && strcmp((table)[i_]->name, (name)) == 0)                              \
			var = (table)[i_];                                                         \
	}                                                                                          \
	if (!var)                                                                                  \
	return -ENOENT

/* Comma-separated list of the names in a table, for error messages. */
#define HAL_REGISTRY_NAMES(table, buf, size)                                                       \
	do {                                                                                       \
		(buf)[0] = '\0';                                                                   \
		for (size_t i_ = 0; i_ < sizeof(table) / sizeof((table)[0]); i_++) {               \
			if (i_)                                                                    \
				strncat((buf), ", ", (size) -strlen(buf) - 1);                     \
			strncat((buf), (table)[i_]->name, (size) -strlen(buf) - 1);                \
		}                                                                                  \
	} while (0)
