/* qr: placeholder until implemented. */
