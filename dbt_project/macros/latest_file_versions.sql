{# The rows of a lake source's latest version of each file: what the lake holds now. A record removed
   from a newer version of its file is gone; a file's older versions stay in bronze as history. #}
{% macro latest_file_versions(relation) %}
    (
        select *
        from (
            select *, max(_file_version) over (partition by _source_file) as _latest_file_version
            from {{ relation }}
        ) as versions
        where _file_version = _latest_file_version
    )
{% endmacro %}
