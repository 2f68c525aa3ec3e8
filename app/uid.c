/* uid: placeholder until implemented. */
