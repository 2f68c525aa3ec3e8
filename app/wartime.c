/* wartime: placeholder until implemented. */
