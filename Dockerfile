# The project's services (`ioc ...`); docker-compose.yml runs them beside Kafka, TimescaleDB, Redis.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 ioc
WORKDIR /app

COPY pyproject.toml README.md ./
COPY ioc ./ioc
COPY stack ./stack
COPY store ./store
COPY refdata ./refdata
COPY simulate ./simulate
COPY dashboard ./dashboard
COPY ingest ./ingest
COPY layouts ./layouts
COPY callbacks ./callbacks
COPY geo ./geo
COPY kpi ./kpi
COPY bench ./bench
COPY alerts ./alerts
COPY auth ./auth
RUN pip install .

USER ioc
ENTRYPOINT ["ioc"]
CMD ["--help"]
