"""ARNs in the forms Step Functions uses, so tools that parse them keep working."""

from __future__ import annotations

REGION = "us-east-1"
ACCOUNT = "000000000000"


def state_machine_arn(name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"


def execution_arn(state_machine: str, name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{state_machine}:{name}"


def name_of(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


def state_machine_of_execution(arn: str) -> str:
    """The state machine ARN of an execution ARN."""
    parts = arn.split(":")
    if len(parts) < 8 or parts[5] != "execution":
        raise ValueError(f"not an execution ARN: {arn}")
    return state_machine_arn(parts[6])
