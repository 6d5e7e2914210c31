-- Record tracking of order lines in the ERP: the lines of a cancelled
-- order end with it.
with order_lines as (

    select * from {{ ref('stg_erp__order_lines') }}

),

order_lines_keyed as (

    select
        {{ vault_hash(['order_id', 'line_number']) }} as order_line_hk,
        loaded_at as load_at,
        'erp.lineitem' as record_source
    from order_lines

),

{{ vault_record_tracking_sat('order_lines_keyed', 'order_line_hk') }}

select * from final
