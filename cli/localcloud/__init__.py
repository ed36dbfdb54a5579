"""The local multi-region cloud: moto extended, plus the data planes moto lacks."""
