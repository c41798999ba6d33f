"""The services of the employer hall; each subpackage owns its data and exposes ``create_app``."""
