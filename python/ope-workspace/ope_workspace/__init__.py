"""OPE's part inside a team's JupyterLab.

The workspace is reached only through OPE's proxy, which adds JupyterLab's token to every request.
The proxy also says who is calling, in a header signed with that token (see ``identity``), so
JupyterLab shows each member under their OPE name instead of an anonymous one.
"""

__version__ = "0.1.0"
