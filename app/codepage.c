/* codepage: placeholder until implemented. */
