"""Writes a template with its AWS::LanguageExtensions expanded (Fn::ForEach loops unrolled over the
pools its Mappings name, Fn::FindInMap resolved) as JSON on stdout: what CloudFormation deploys.
For the tools that do not expand it themselves: sam build fails on Fn::ForEach in Resources
(aws/aws-sam-cli#5647), checkov does not look inside a loop, and the bootstrap's shellcheck needs
one pool's launch template. Uses cfn-lint's own expansion (the version pinned in
scripts/lint-template.sh), so that lint, scan, build and deploy read the same template.

Usage: expand-template.py TEMPLATE > EXPANDED.json
"""
import json
import sys

from cfnlint.decode import decode
from cfnlint.template import Template
from cfnlint.template.transforms._language_extensions import language_extension

template, problems = decode(sys.argv[1])
if problems:
    sys.exit(f"cannot read {sys.argv[1]}: {problems}")
matches, expanded = language_extension(Template(sys.argv[1], template, ["us-east-1"]))
if matches or expanded is None:
    sys.exit(f"cannot expand {sys.argv[1]}: {[str(m) for m in matches]}")
json.dump(expanded, sys.stdout, default=str)
