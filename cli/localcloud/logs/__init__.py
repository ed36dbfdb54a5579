"""CloudWatch Logs on the local cloud: moto's, plus the delivery of each function's log lines to its
log group (delivery.py) and the metrics CloudWatch extracts from embedded-metric-format lines
(emf.py)."""
