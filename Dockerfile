# foncier served by gunicorn. Used by docker-compose.yml; the README's scripts need no Docker.

FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
COPY scripts/ scripts/
RUN npm ci --omit=dev --no-audit --no-fund
COPY foncier/web/static/ foncier/web/static/
RUN npm run build

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY foncier/ foncier/
COPY seed/ seed/
COPY sql/ sql/
RUN pip install --no-cache-dir -e .
COPY --from=assets /src/foncier/web/static/vendor/ foncier/web/static/vendor/
RUN useradd --system foncier
USER foncier
EXPOSE 5000
CMD ["foncier", "serve", "--host", "0.0.0.0", "--port", "5000"]
