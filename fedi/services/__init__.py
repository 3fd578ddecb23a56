"""Domain services: the rules, called by web routes, the C2S outbox and inbound handlers alike."""
