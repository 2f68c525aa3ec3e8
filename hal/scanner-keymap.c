/*
 * scanner-keymap: the US keyboard layout a HID scanner types in, from Linux key codes to ASCII.
 * Only what a scanner types: the main block, space, tab and the keypad (as with num lock on).
 * Function keys, arrows and the like are no characters (0): the driver drops their line.
 */
#include "scanner.h"

#include <linux/input.h>

struct key_chars {
	char plain, shifted;
};

static const struct key_chars keys[] = {
    [KEY_1] = {'1', '!'},	   [KEY_2] = {'2', '@'},	  [KEY_3] = {'3', '#'},
    [KEY_4] = {'4', '$'},	   [KEY_5] = {'5', '%'},	  [KEY_6] = {'6', '^'},
    [KEY_7] = {'7', '&'},	   [KEY_8] = {'8', '*'},	  [KEY_9] = {'9', '('},
    [KEY_0] = {'0', ')'},	   [KEY_MINUS] = {'-', '_'},	  [KEY_EQUAL] = {'=', '+'},
    [KEY_TAB] = {'\t', '\t'},	   [KEY_Q] = {'q', 'Q'},	  [KEY_W] = {'w', 'W'},
    [KEY_E] = {'e', 'E'},	   [KEY_R] = {'r', 'R'},	  [KEY_T] = {'t', 'T'},
    [KEY_Y] = {'y', 'Y'},	   [KEY_U] = {'u', 'U'},	  [KEY_I] = {'i', 'I'},
    [KEY_O] = {'o', 'O'},	   [KEY_P] = {'p', 'P'},	  [KEY_LEFTBRACE] = {'[', '{'},
    [KEY_RIGHTBRACE] = {']', '}'}, [KEY_A] = {'a', 'A'},	  [KEY_S] = {'s', 'S'},
    [KEY_D] = {'d', 'D'},	   [KEY_F] = {'f', 'F'},	  [KEY_G] = {'g', 'G'},
    [KEY_H] = {'h', 'H'},	   [KEY_J] = {'j', 'J'},	  [KEY_K] = {'k', 'K'},
    [KEY_L] = {'l', 'L'},	   [KEY_SEMICOLON] = {';', ':'},  [KEY_APOSTROPHE] = {'\'', '"'},
    [KEY_GRAVE] = {'`', '~'},	   [KEY_BACKSLASH] = {'\\', '|'}, [KEY_Z] = {'z', 'Z'},
    [KEY_X] = {'x', 'X'},	   [KEY_C] = {'c', 'C'},	  [KEY_V] = {'v', 'V'},
    [KEY_B] = {'b', 'B'},	   [KEY_N] = {'n', 'N'},	  [KEY_M] = {'m', 'M'},
    [KEY_COMMA] = {',', '<'},	   [KEY_DOT] = {'.', '>'},	  [KEY_SLASH] = {'/', '?'},
    [KEY_KPASTERISK] = {'*', '*'}, [KEY_SPACE] = {' ', ' '},	  [KEY_KP7] = {'7', '7'},
    [KEY_KP8] = {'8', '8'},	   [KEY_KP9] = {'9', '9'},	  [KEY_KPMINUS] = {'-', '-'},
    [KEY_KP4] = {'4', '4'},	   [KEY_KP5] = {'5', '5'},	  [KEY_KP6] = {'6', '6'},
    [KEY_KPPLUS] = {'+', '+'},	   [KEY_KP1] = {'1', '1'},	  [KEY_KP2] = {'2', '2'},
    [KEY_KP3] = {'3', '3'},	   [KEY_KP0] = {'0', '0'},	  [KEY_KPDOT] = {'.', '.'},
    [KEY_KPSLASH] = {'/', '/'},
};

char hal_scanner_keymap_us(unsigned key, bool shift)
{
	if (key >= sizeof(keys) / sizeof(keys[0]))
		return 0;
	if (shift)
		return keys[key].shifted;
	return keys[key].plain;
}

bool hal_scanner_key_is_enter(unsigned key)
{
	return key == KEY_ENTER || key == KEY_KPENTER;
}
