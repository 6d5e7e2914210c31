with source as (

    select * from {{ source('carrier', 'file_reconciliation') }}

),

renamed as (

    select
        file_name,
        file_url,
        cast(file_modified_at as timestamp) as file_modified_at,
        cast(file_size_bytes as bigint) as file_size_bytes,
        cast(lines_read as integer) as lines_read,
        cast(lines_loaded as integer) as lines_loaded,
        cast(lines_duplicate as integer) as lines_duplicate,
        cast(lines_quarantined as integer) as lines_quarantined,
        coalesce(
            lines_read = lines_loaded + lines_duplicate + lines_quarantined,
            false
        ) as is_reconciled,
        _dlt_load_id as dlt_load_id,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
