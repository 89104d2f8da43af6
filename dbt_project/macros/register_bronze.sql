{# Where a warehouse reads bronze from the lake, make each bronze folder a table of it: each bronze
   batch is a Parquet file under <bronze location>/<table>/, written by the bronze assets when the
   warehouse resource has bronze_to_lake (dagster_project/publish.py). The location is
   PLAYGROUND_BRONZE_LOCATION as the warehouse spells it (abfss://bronze@<account>.dfs.core.windows.net),
   by default <lake>/bronze for the local Spark target. DuckDB holds bronze as tables already.
   Runs at the start of every dbt invocation, except when compiling offline. #}
{% macro register_bronze() %}
    {% if execute and var('offline', none) is none %}
        {% for statement in bronze_tables_sql() %}
            {% do run_query(statement) %}
        {% endfor %}
    {% endif %}
{% endmacro %}

{% macro bronze_location() -%}
    {{ return(env_var('PLAYGROUND_BRONZE_LOCATION', env_var('PLAYGROUND_LAKE', '../data/lake') ~ '/bronze')) }}
{%- endmacro %}

{% macro bronze_tables_sql() %}
    {{ return(adapter.dispatch('bronze_tables_sql', 'playground')()) }}
{% endmacro %}

{% macro default__bronze_tables_sql() %}
    {{ return([]) }}
{% endmacro %}

{# Spark: Parquet tables over the folders, refreshed to see new files. #}
{% macro spark__bronze_tables_sql() %}
    {{ return(parquet_tables_sql(bronze_columns().keys() | list)) }}
{% endmacro %}

{# Databricks: its bronze job (dagster_project/on_spark/bronze.py) writes the lake files' and the orders'
   tables into the catalog itself; only the events arrive as Parquet from Dagster's ingest. #}
{% macro databricks__bronze_tables_sql() %}
    {{ return(parquet_tables_sql(bronze_event_tables())) }}
{% endmacro %}

{% macro parquet_tables_sql(tables) %}
    {% set statements = ['create database if not exists bronze'] %}
    {% for table in tables %}
        {% do statements.append('create table if not exists bronze.' ~ table ~ " using parquet location '"
                                ~ bronze_location() ~ '/' ~ table ~ "'") %}
        {% do statements.append('refresh table bronze.' ~ table) %}
    {% endfor %}
    {{ return(statements) }}
{% endmacro %}

{# Synapse dedicated pools: external tables, which need every column declared (bronze_columns.sql);
   the lake copies hold arrays as JSON text there. The pool reads the lake as the workspace's managed
   identity (Terraform grants it Storage Blob Data Reader on the lake and lets it through the lake's
   firewall): a database scoped credential WITH IDENTITY = 'Managed Service Identity', which needs the
   database's master key (Microsoft's "Use external tables with Synapse SQL", Hadoop external tables with
   managed identity). SYNAPSE_LAKE_CREDENTIAL names another credential to use instead. #}
{% macro synapse__bronze_tables_sql() %}
    {% set types = {'BIGINT': 'bigint', 'INTEGER': 'int', 'DOUBLE': 'float', 'TIMESTAMP': 'datetime2',
                    'VARCHAR': 'nvarchar(4000)', 'VARCHAR[]': 'nvarchar(4000)'} %}
    {% set credential = lake_credential() %}
    {% set statements = [
        "if schema_id('bronze') is null " ~ exec_sql("create schema bronze"),
        "if not exists (select * from sys.symmetric_keys where name = '##MS_DatabaseMasterKey##') "
            ~ exec_sql("create master key"),
        "if not exists (select * from sys.database_scoped_credentials where name = '" ~ credential ~ "') "
            ~ exec_sql("create database scoped credential " ~ credential ~ " with identity = 'Managed Service Identity'"),
        "if not exists (select * from sys.external_file_formats where name = 'playground_parquet') "
            ~ exec_sql("create external file format playground_parquet with (format_type = parquet)"),
        external_data_source_sql('playground_bronze', bronze_location())] %}
    {% for table, columns in bronze_columns().items() %}
        {% set declared = [] %}
        {% for name, type in columns %}
            {% do declared.append('[' ~ name ~ '] ' ~ types[type]) %}
        {% endfor %}
        {% do statements.append("if object_id('bronze." ~ table ~ "') is null " ~ exec_sql(
            "create external table bronze." ~ table ~ ' (' ~ declared | join(', ') ~ ") with (location = '/" ~ table
            ~ "/', data_source = playground_bronze, file_format = playground_parquet)")) %}
    {% endfor %}
    {{ return(statements) }}
{% endmacro %}

{# The database scoped credential Synapse reads and writes the lake with: the workspace's managed identity's,
   made above, unless SYNAPSE_LAKE_CREDENTIAL names another. #}
{% macro lake_credential() -%}
    {{ return(env_var('SYNAPSE_LAKE_CREDENTIAL', '') or 'playground_lake_identity') }}
{%- endmacro %}

{# A Synapse external data source over a lake folder, read (and written) with lake_credential(), made once. #}
{% macro external_data_source_sql(name, location) -%}
    {{ return("if not exists (select * from sys.external_data_sources where name = '" ~ name ~ "') "
              ~ exec_sql("create external data source " ~ name ~ " with (type = hadoop, location = '" ~ location
                         ~ "', credential = " ~ lake_credential() ~ ")")) }}
{%- endmacro %}

{# A statement T-SQL allows only alone in its batch, run from inside an if. #}
{% macro exec_sql(statement) -%}
    {{ return("exec('" ~ statement | replace("'", "''") ~ "')") }}
{%- endmacro %}
