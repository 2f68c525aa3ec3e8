/* escpos: placeholder until implemented. */
