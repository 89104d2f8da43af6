{# Tiers are schemas of their own name (silver, gold) on every warehouse, not <target schema>_silver. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name else target.schema }}
{%- endmacro %}
