with source as (

    select * from {{ source('erp', 'lineitem') }}

),

renamed as (

    select
        cast(l_orderkey as bigint) as order_id,
        cast(l_linenumber as integer) as line_number,
        cast(l_partkey as bigint) as part_id,
        cast(l_suppkey as bigint) as supplier_id,
        cast(l_quantity as decimal(15, 2)) as quantity,
        cast(l_extendedprice as decimal(15, 2)) as extended_price,
        cast(l_discount as decimal(15, 2)) as discount_rate,
        cast(l_tax as decimal(15, 2)) as tax_rate,
        trim(l_returnflag) as return_flag,
        trim(l_linestatus) as line_status,
        cast(l_shipdate as date) as ship_date,
        cast(l_commitdate as date) as commit_date,
        cast(l_receiptdate as date) as receipt_date,
        trim(l_shipinstruct) as ship_instructions,
        trim(l_shipmode) as ship_mode,
        trim(l_comment) as order_line_comment,
        cast(updated_at as timestamp) as updated_at,
        _dlt_load_id as dlt_load_id,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
