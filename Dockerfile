# wiretrace server image. Stage 1 will build the web UI (web/) once it exists; stage 2 runs
# the proxy, JSON API and UI on one port.
FROM python:3.12-slim AS runtime
WORKDIR /app
COPY pyproject.toml README.md ./
COPY proxy ./proxy
COPY sdk ./sdk
RUN pip install --no-cache-dir . && useradd --create-home wiretrace
USER wiretrace
ENV WIRETRACE_HOST=0.0.0.0 \
    WIRETRACE_PORT=8787 \
    WIRETRACE_DB=/home/wiretrace/data/wiretrace.db
VOLUME ["/home/wiretrace/data"]
EXPOSE 8787
STOPSIGNAL SIGTERM
CMD ["wiretrace", "serve"]
