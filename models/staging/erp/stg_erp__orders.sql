with source as (

    select * from {{ source('erp', 'orders') }}

),

renamed as (

    select
        cast(o_orderkey as bigint) as order_id,
        cast(o_custkey as bigint) as customer_id,
        trim(o_orderstatus) as order_status,
        cast(o_totalprice as decimal(15, 2)) as total_price,
        cast(o_orderdate as date) as order_date,
        trim(o_orderpriority) as order_priority,
        trim(o_clerk) as clerk_id,
        cast(o_shippriority as integer) as ship_priority,
        trim(o_comment) as order_comment,
        cast(updated_at as timestamp) as updated_at,
        _dlt_load_id as dlt_load_id,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
