"""One module per incoming activity type, each registered in
``fedi.federation.incoming.registry``."""
