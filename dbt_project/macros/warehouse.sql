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

{# Each row of `relation` for which `for_rows` holds, with `prior_<column>` for each of `measures` ({column: 'sum' or
   'max'}): that aggregate over the rows of its partition that sort strictly before it, rows tied on every
   `order_by` column (peers) seeing none of each other. The columns of `partition_by` and `order_by` must not be
   empty on the rows kept. #}
{% macro totals_before(relation, partition_by, order_by, measures, for_rows) -%}
    {{ return(adapter.dispatch('totals_before', 'playground')(relation, partition_by, order_by, measures, for_rows)) }}
{%- endmacro %}

{# `sum(c) over (...) as prior_c, ..., max(m) over (...) as prior_m`, each over the rows (`frame` 'rows') or the
   peer groups ('groups') of the partition before the row's own. #}
{% macro windowed_totals(partition_by, order_by, measures, frame) -%}
    {%- set window = 'over (partition by ' ~ partition_by | join(', ') ~ ' order by ' ~ order_by | join(', ') ~ ' '
                     ~ frame ~ ' between unbounded preceding and 1 preceding)' -%}
    {%- set totals = [] -%}
    {%- for column, aggregate in measures.items() -%}
        {%- do totals.append(aggregate ~ '(' ~ column ~ ') ' ~ window ~ ' as prior_' ~ column) -%}
    {%- endfor -%}
    {{ totals | join(',\n') }}
{%- endmacro %}

{# Spark and T-SQL frame by rows or range only (docs.databricks.com/sql/language-manual/
   sql-ref-syntax-window-functions-frame.html; learn.microsoft.com/sql/t-sql/queries/select-over-clause-transact-sql):
   the peers are added up first, each group then sees the groups before it, and the rows are joined back to their
   group. Derived tables, not a WITH: T-SQL nests no WITH in the model's own. #}
{% macro default__totals_before(relation, partition_by, order_by, measures, for_rows) -%}
    {%- set keys = partition_by + order_by -%}
    {%- set added_up, prior = [], [] -%}
    {%- for column, aggregate in measures.items() -%}
        {%- do added_up.append(aggregate ~ '(' ~ column ~ ') as ' ~ column) -%}
        {%- do prior.append('b.prior_' ~ column) -%}
    {%- endfor %}
    select kept.*, {{ prior | join(', ') }}
    from (select * from {{ relation }} where {{ for_rows }}) as kept
    inner join (
        select
            {{ keys | join(', ') }},
            {{ windowed_totals(partition_by, order_by, measures, 'rows') }}
        from (
            select {{ keys | join(', ') }}, {{ added_up | join(', ') }}
            from {{ relation }}
            group by {{ keys | join(', ') }}
        ) as peers
    ) as b
        on {% for key in keys %}kept.{{ key }} = b.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}
{%- endmacro %}

{# DuckDB has SQL:2011's GROUPS frame, which counts peers as one: one window, no join (at the medium scale the
   order features took 8 s this way against 18 s added up and joined back). #}
{% macro duckdb__totals_before(relation, partition_by, order_by, measures, for_rows) -%}
    select * from (
        select *, {{ windowed_totals(partition_by, order_by, measures, 'groups') }}
        from {{ relation }}
    ) as with_totals
    where {{ for_rows }}
{%- endmacro %}
