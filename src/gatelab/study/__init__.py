"""Studies: variants × tasks × seeds. For now, the short demonstration behind ``gatelab demo``."""
