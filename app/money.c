/* money: placeholder until implemented. */
