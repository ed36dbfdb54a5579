"""A samconfig.toml for unit tests: a table stack in eu-west-1, one region env per entry (stack
"app"), and a routing stack in us-east-1, with the parameter overrides the test needs."""

from __future__ import annotations


def samconfig_text(regions: dict[str, str], table_overrides: str = "TableName=global-items",
                   region_overrides: str = "TableName=global-items", routing_overrides: str = "") -> str:
    return "version = 0.1\n" + f'''
[table.deploy.parameters]
stack_name = "app-table"
region = "eu-west-1"
template_file = "global/table.yaml"
parameter_overrides = "{table_overrides}"
''' + "".join(f'''
[{env}.deploy.parameters]
stack_name = "app"
region = "{region}"
parameter_overrides = "{region_overrides}"
''' for env, region in regions.items()) + '''
[routing.deploy.parameters]
stack_name = "app-routing"
region = "us-east-1"
template_file = "global/routing.yaml"
''' + (f'parameter_overrides = "{routing_overrides}"\n' if routing_overrides else "")
