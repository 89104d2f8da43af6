{# Rows where the column is below zero (NULLs are not_null's concern). #}
{% test not_negative(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} < 0
{% endtest %}
