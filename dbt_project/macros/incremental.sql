{# Incremental silver models read only bronze rows ingested after the newest one they hold, and
   skip keys they already have (a source may repeat a record in a later batch). Append works on
   every warehouse, Parquet on Spark included. #}
{% macro new_bronze_rows(alias='b') -%}
    {%- if is_incremental() %}
    where {{ alias }}._ingested_at > (select max(_ingested_at) from {{ this }})
    {%- endif %}
{%- endmacro %}

{# A condition to add with `and`: true on a full build. #}
{% macro not_already_loaded(keys, alias='d') -%}
    {%- if is_incremental() %}
    and not exists (
        select 1 from {{ this }} as existing
        where {% for key in keys %}existing.{{ key }} = {{ alias }}.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}
    )
    {%- endif %}
{%- endmacro %}
