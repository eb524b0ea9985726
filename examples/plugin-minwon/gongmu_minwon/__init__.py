"""gongmu plug-in for 민원 (civil complaint) records exported from a records system as CSV.

- `reader.READER` (`corpus.sources[].type: minwon_csv`): one document per complaint.
- `family.FAMILY` (`corpus.families: [minwon_routing]`): which department handles it.
- `suite.BUILDER` (suite.yaml `items: {builder: minwon_routing}`): the same question on
  held-out complaints.
- `metric.METRIC` (suite.yaml `metrics: [department_named]`): does the answer name the
  department in charge.

Each is registered in pyproject.toml's entry points; gongmu finds them once this package
is installed.
"""

# The document metadata key the reader fills and the family and builder read.
DEPARTMENT = "담당부서"
