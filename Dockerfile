# The generators' image (terraform/modules/generators runs it on Azure Container Instances): `playground`
# from its own distribution (packages/generators: the generators, the catalog and the I/O layer) with the
# locked dependencies and the Azure, SQL Server and Kafka extras; neither Dagster nor dbt nor PySpark.
#   docker build -t <registry>/data-playground:0.1.0 . && docker push <registry>/data-playground:0.1.0
FROM python:3.11-slim-bookworm AS build
RUN pip install --no-cache-dir uv==0.13.8
ENV UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first (a layer that changes only with the lock file), then the generators themselves.
# The workspace's root pyproject.toml and lock file say what the member's dependencies resolve to.
COPY pyproject.toml uv.lock README.md ./
COPY packages/generators/pyproject.toml packages/generators/
RUN uv sync --frozen --no-dev --package playground-generators --no-install-workspace --extra azure --extra mssql --extra kafka
COPY packages/generators/playground packages/generators/playground
RUN uv sync --frozen --no-dev --no-editable --package playground-generators --extra azure --extra mssql --extra kafka

FROM python:3.11-slim-bookworm
RUN useradd --create-home --uid 10001 playground
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH
USER playground
WORKDIR /home/playground
ENTRYPOINT ["playground"]
CMD ["--help"]
