"""CloudWatch on the local cloud: moto's, plus its patch (patch.py: alarms declared in templates).

No data plane yet: alarms hold the state they are set to; no metrics are emitted.
"""
