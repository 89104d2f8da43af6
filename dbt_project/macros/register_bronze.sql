{# The local Spark target reads bronze as Parquet under <lake>/bronze/<table>/ (exported from the
   DuckDB bronze tables by dagster_project/publish.py, see README); other warehouses hold bronze
   as tables already. Runs at the start of every dbt invocation. #}
{% macro register_bronze() %}
    {% if target.type == 'spark' and execute %}
        {% set lake = env_var('PLAYGROUND_LAKE', '../data/lake') %}
        {% do run_query('create database if not exists bronze') %}
        {% for table in graph.sources.values() | selectattr('source_name', 'equalto', 'bronze') %}
            {% do run_query('create table if not exists bronze.' ~ table.name ~ " using parquet location '"
                            ~ lake ~ '/bronze/' ~ table.name ~ "'") %}
            {% do run_query('refresh table bronze.' ~ table.name) %}
        {% endfor %}
    {% endif %}
{% endmacro %}
