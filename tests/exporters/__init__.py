"""Live tests of the exporter side: real PostgreSQL, Redis, exporters and Prometheus on loopback."""
