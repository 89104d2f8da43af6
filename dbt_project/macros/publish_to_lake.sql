{# Gold in the lake for readers outside the warehouse (the dashboard), written by a cloud warehouse itself
   after it builds each gold model: the model's rows as Parquet in <PLAYGROUND_GOLD_LOCATION>/<model>/<stamp>/,
   a new folder per run (PLAYGROUND_PUBLISH_STAMP, set by Dagster), so a reader never meets a folder half
   overwritten. Dagster then names the newest whole folder in <model>/_latest and removes older ones
   (dagster_project/publish.py). Without PLAYGROUND_GOLD_LOCATION nothing is written: locally Dagster
   publishes DuckDB's gold itself (<lake>/gold/<model>/data.parquet). #}
{% macro publish_to_lake() %}
    {% set location = env_var('PLAYGROUND_GOLD_LOCATION', '') %}
    {% if execute and location and var('offline', none) is none %}
        {{ return(publish_sql(this, this.identifier ~ '/' ~ env_var('PLAYGROUND_PUBLISH_STAMP'))) }}
    {% endif %}
    {{ return('') }}
{% endmacro %}

{# The statement that writes `relation` as Parquet into `folder`, relative to the gold location. #}
{% macro publish_sql(relation, folder) %}
    {{ return(adapter.dispatch('publish_sql', 'playground')(relation, folder)) }}
{% endmacro %}

{% macro default__publish_sql(relation, folder) %}
    {{ return('') }}
{% endmacro %}

{# Spark and Databricks: the folder written whole by the query (the gold external location's files). #}
{% macro spark__publish_sql(relation, folder) %}
    {{ return("insert overwrite directory '" ~ env_var('PLAYGROUND_GOLD_LOCATION').rstrip('/') ~ '/' ~ folder
              ~ "' using parquet select * from " ~ relation) }}
{% endmacro %}

{# Synapse dedicated pools: CREATE EXTERNAL TABLE AS SELECT into the folder, through the external data source
   playground_gold, read and written as the workspace's managed identity (register_bronze's credential).
   The external table is metadata only: dropping the previous run's leaves its files for Dagster to remove. #}
{% macro synapse__publish_sql(relation, folder) %}
    {% set table = 'gold_lake.' ~ relation.identifier %}
    {{ return("if schema_id('gold_lake') is null " ~ exec_sql("create schema gold_lake") ~ ";\n"
              ~ external_data_source_sql('playground_gold', env_var('PLAYGROUND_GOLD_LOCATION')) ~ ";\n"
              ~ "if object_id('" ~ table ~ "') is not null drop external table " ~ table ~ ";\n"
              ~ "create external table " ~ table ~ " with (location = '/" ~ folder ~ "/', data_source = "
              ~ "playground_gold, file_format = playground_parquet) as select * from " ~ relation) }}
{% endmacro %}
