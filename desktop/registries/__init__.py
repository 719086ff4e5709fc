"""The Registries tab: registries, collections, linked versions and their detail."""
