"""Background workers: the inbox processor, the delivery queue and the loops that run them."""
