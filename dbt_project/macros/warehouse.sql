{# The few places where warehouses' SQL differs. Models call these; each warehouse gets its own body. #}

{# An ISO-8601 UTC string ("2022-08-13T10:00:00.123Z") as a timestamp. #}
{% macro iso_timestamp(column) -%}
    {{ return(adapter.dispatch('iso_timestamp', 'playground')(column)) }}
{%- endmacro %}

{% macro default__iso_timestamp(column) -%}
    cast({{ column }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro synapse__iso_timestamp(column) -%}
    convert(datetime2, {{ column }}, 127)
{%- endmacro %}

{# The number of elements of an array column. #}
{% macro array_size(column) -%}
    {{ return(adapter.dispatch('array_size', 'playground')(column)) }}
{%- endmacro %}

{% macro default__array_size(column) -%}
    len({{ column }})
{%- endmacro %}

{% macro spark__array_size(column) -%}
    size({{ column }})
{%- endmacro %}

{# On Synapse, arrays land as JSON text. #}
{% macro synapse__array_size(column) -%}
    (select count(*) from openjson({{ column }}))
{%- endmacro %}

{# One row per element of an array column: select <keys>, <element> as <alias> from <relation>. #}
{% macro explode_array(relation, keys, column, alias) -%}
    {{ return(adapter.dispatch('explode_array', 'playground')(relation, keys, column, alias)) }}
{%- endmacro %}

{% macro default__explode_array(relation, keys, column, alias) -%}
    select {{ keys | join(', ') }}, unnest({{ column }}) as {{ alias }} from {{ relation }}
{%- endmacro %}

{% macro spark__explode_array(relation, keys, column, alias) -%}
    select {{ keys | join(', ') }}, explode({{ column }}) as {{ alias }} from {{ relation }}
{%- endmacro %}

{% macro synapse__explode_array(relation, keys, column, alias) -%}
    select {{ keys | join(', ') }}, element.value as {{ alias }}
    from {{ relation }} cross apply openjson({{ column }}) as element
{%- endmacro %}

{# A boolean column from a condition (T-SQL has no boolean type: bit). #}
{% macro as_flag(condition) -%}
    {{ return(adapter.dispatch('as_flag', 'playground')(condition)) }}
{%- endmacro %}

{% macro default__as_flag(condition) -%}
    ({{ condition }})
{%- endmacro %}

{% macro synapse__as_flag(condition) -%}
    cast(case when {{ condition }} then 1 else 0 end as bit)
{%- endmacro %}

{# An 8-byte float (dbt's type_float is 4 bytes on some warehouses). #}
{% macro double_type() -%}
    {{ return(adapter.dispatch('double_type', 'playground')()) }}
{%- endmacro %}

{% macro default__double_type() -%}
    double
{%- endmacro %}

{% macro synapse__double_type() -%}
    float
{%- endmacro %}

{# The ISO day of the week of a timestamp: 1 Monday .. 7 Sunday. #}
{% macro iso_day_of_week(column) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'playground')(column)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(column) -%}
    isodow({{ column }})
{%- endmacro %}

{# Spark's dayofweek counts from Sunday (1). #}
{% macro spark__iso_day_of_week(column) -%}
    ((dayofweek({{ column }}) + 5) % 7 + 1)
{%- endmacro %}

{# T-SQL's weekday depends on the session's DATEFIRST; @@datefirst undoes it. #}
{% macro synapse__iso_day_of_week(column) -%}
    ((datepart(weekday, {{ column }}) + @@datefirst - 2) % 7 + 1)
{%- endmacro %}

{# Seconds from one timestamp to a later one, as a double (dbt's datediff asks Databricks for its version). #}
{% macro seconds_between(start, stop) -%}
    {{ return(adapter.dispatch('seconds_between', 'playground')(start, stop)) }}
{%- endmacro %}

{% macro default__seconds_between(start, stop) -%}
    cast(date_diff('second', {{ start }}, {{ stop }}) as {{ double_type() }})
{%- endmacro %}

{% macro spark__seconds_between(start, stop) -%}
    cast(unix_timestamp({{ stop }}) - unix_timestamp({{ start }}) as double)
{%- endmacro %}

{# DATEDIFF, not DATEDIFF_BIG: Synapse's dedicated pools are not among DATEDIFF_BIG's "Applies to"
   (learn.microsoft.com/sql/t-sql/functions/datediff-big-transact-sql); an int of seconds spans 68 years. #}
{% macro synapse__seconds_between(start, stop) -%}
    cast(datediff(second, {{ start }}, {{ stop }}) as float)
{%- endmacro %}
