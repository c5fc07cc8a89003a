# syntax=docker/dockerfile:1
# The python kit's workspace: JupyterLab with real-time collaboration and pytest for task tests, the
# same packages (and version ranges) as scripts/requirements.txt gives the local workspaces; the
# sql and spark images build on this one. The operator runs it with its own command (token, base
# URL, the team's folder); CMD is what `docker run` starts.
#   docker build -f deploy/images/workspace-python.Dockerfile -t ghcr.io/ope-dev/workspace-python:0.1.0 .
# Python 3.11 is Debian 12's, the Python the local workspaces and their tests run on.
FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
# A virtualenv owned by root: participant code (user 1000) can use the packages but not change them
# for the next team. The version ranges are scripts/requirements.txt's lines, word for word
# (scripts/check_kube_manifests.py checks that).
# OPE's own package (python/ope-workspace) tells JupyterLab who each member is, as OPE's proxy
# vouches for them; the workspace configuration names it.
COPY python/ope-workspace /tmp/ope-workspace
RUN python -m venv /opt/venv \
    && pip install --no-cache-dir \
        "jupyterlab>=4.6,<5" \
        "jupyter-collaboration>=5.0,<6" \
        "ipykernel>=7,<8" \
        "pytest>=9,<10" \
        /tmp/ope-workspace \
    && rm -rf /tmp/ope-workspace \
    && groupadd --gid 1000 ope \
    && useradd --uid 1000 --gid 1000 --home-dir /home/ope --create-home --shell /bin/bash ope \
    && mkdir -p /home/ope/work \
    && chown 1000:1000 /home/ope/work
# Numeric, so Kubernetes' runAsNonRoot can check it.
USER 1000:1000
WORKDIR /home/ope/work
EXPOSE 8888
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser"]
