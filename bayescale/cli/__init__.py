"""The command line: arguments, exit codes and the commands, nothing else.

:mod:`~bayescale.cli.args` (options, converters and checks, the parser; imports no JAX) and
:mod:`~bayescale.cli.commands` (``bayescale fit``, ``predict``, ``plan``, ``report``, ...;
:func:`main`). The top of the import order: it calls the facade (:mod:`bayescale`). The
names of the former module ``bayescale.cli`` are found here.
"""

from bayescale._lazy import forward

__getattr__ = forward(__name__, "commands")
