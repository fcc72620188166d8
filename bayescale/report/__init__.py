"""What a person reads: one block formatter, the decision report, its words and figures.

:mod:`~bayescale.report.blocks` (one document model rendered as text, Markdown, HTML or
JSON), :mod:`~bayescale.report.summaries` (the fit's summaries and own display, and the
predictions of new runs, on those blocks), :mod:`~bayescale.report.plotting` (the one module that
draws with matplotlib, imported inside functions), :mod:`~bayescale.report.decision_text`
(the report in words), :mod:`~bayescale.report.decision_report` (the whole decision
report) and :mod:`~bayescale.report.display` (how a fit, its decision tables and run plans
show themselves at the prompt and in Jupyter, from the same blocks). Imports the wings
before it except :mod:`bayescale.checks`, whose results reach a report through
:class:`~bayescale.FitResult`. The names of the former module ``bayescale.report`` are
found here.
"""

from bayescale._lazy import forward

__getattr__ = forward(__name__, "blocks", "summaries")
