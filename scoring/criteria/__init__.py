"""One module per published criteria set; each opens with its citation and band table."""
