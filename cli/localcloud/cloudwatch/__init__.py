"""CloudWatch on the local cloud: moto's, plus

- patch.py: alarms declared in templates, PutMetricAlarm refusing what cannot be evaluated,
  DescribeAlarmHistory;
- metrics.py: the store the data planes publish to (and moto's metric APIs read);
- alarms.py and expressions.py: how an alarm decides its state, and metric math (pure);
- evaluation.py: the supervisor's evaluation thread, state changes, history and SNS actions.
"""
