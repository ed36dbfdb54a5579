"""S3 on the local cloud: moto's, plus its patch (patch.py: the bucket policy CloudFormation declares)."""
