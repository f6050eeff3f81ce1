# Flotilla runtime node. Build: docker build -t flotilla .
# Run:   docker run -p 8080:8080 -v flotilla-data:/data flotilla
FROM denoland/deno:2.9.6

WORKDIR /app
# Dependencies first, so code changes do not refetch them.
COPY deno.json deno.lock ./
RUN deno install --frozen
COPY . .
RUN deno cache --frozen main.ts \
  && mkdir -p /data && chown deno:deno /data

ENV PORT=8080 \
    HOST=0.0.0.0 \
    FLOTILLA_DATA_DIR=/data \
    FLOTILLA_LOG_FORMAT=json
VOLUME /data
EXPOSE 8080
USER deno
HEALTHCHECK --interval=10s --timeout=2s CMD ["deno", "eval", "const r = await fetch('http://127.0.0.1:8080/healthz'); Deno.exit(r.ok ? 0 : 1)"]
CMD ["task", "start"]
