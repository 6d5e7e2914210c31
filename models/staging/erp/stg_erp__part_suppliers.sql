with source as (

    select * from {{ source('erp', 'partsupp') }}

),

renamed as (

    select
        cast(ps_partkey as bigint) as part_id,
        cast(ps_suppkey as bigint) as supplier_id,
        cast(ps_availqty as integer) as available_quantity,
        cast(ps_supplycost as decimal(15, 2)) as supply_cost,
        trim(ps_comment) as part_supplier_comment,
        cast(updated_at as timestamp) as updated_at,
        _dlt_load_id as dlt_load_id,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
