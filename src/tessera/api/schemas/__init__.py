"""API request and response models, one module per stage. Services never import these."""
