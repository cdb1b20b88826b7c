# wiretrace server image. Stage 1 builds the web UI (web/) into the Python package; stage 2
# installs it (no web/ there, so the build hook ships that prebuilt static/ as it is) and
# runs the proxy, JSON API and UI on one port.
FROM node:22-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
RUN mkdir -p ../proxy/wiretrace_proxy && npm exec -- vite build --logLevel warn

FROM python:3.12-slim AS runtime
WORKDIR /app
COPY pyproject.toml README.md ./
COPY proxy ./proxy
COPY sdk ./sdk
COPY --from=web /src/proxy/wiretrace_proxy/static ./proxy/wiretrace_proxy/static
# The data folder exists in the image, owned by the user that writes it: a named volume
# mounted there starts as a copy of it, so the non-root server can create its database.
RUN pip install --no-cache-dir . \
    && useradd --create-home wiretrace \
    && install -d -o wiretrace -g wiretrace /home/wiretrace/data
USER wiretrace
# The server listens on every interface of the container, so it does not start without an
# access token for its API and UI: pass one (long and random) as WIRETRACE_AUTH_TOKEN, or a
# mounted secret file as WIRETRACE_AUTH_TOKEN_FILE:
#   docker run -p 8787:8787 -e WIRETRACE_AUTH_TOKEN="$(openssl rand -hex 32)" ... wiretrace
# Browsers sign in at /signin, scripts send "Authorization: Bearer <token>", the SDK reads
# WIRETRACE_TOKEN. Apps in other containers that reach it by name need that name allowed:
# WIRETRACE_PUBLIC_HOST=wiretrace. To run it open all the same (a network private by other
# means): -e WIRETRACE_INSECURE_NO_AUTH=1.
ENV WIRETRACE_HOST=0.0.0.0 \
    WIRETRACE_PORT=8787 \
    WIRETRACE_DB=/home/wiretrace/data/wiretrace.db
VOLUME ["/home/wiretrace/data"]
EXPOSE 8787
STOPSIGNAL SIGTERM
CMD ["wiretrace", "serve"]
