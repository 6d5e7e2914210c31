-- A supplier's descriptive attributes in the ERP (PII apart, in
-- sat_supplier__erp_pii).
with suppliers as (

    select * from {{ ref('stg_erp__suppliers') }}

),

suppliers_keyed as (

    select
        {{ vault_hash(['supplier_id']) }} as supplier_hk,
        supplier_name,
        account_balance,
        supplier_comment,
        loaded_at as load_at,
        'erp.supplier' as record_source
    from suppliers

),

{{ vault_sat(
    'suppliers_keyed',
    'supplier_hk',
    'supplier_hashdiff',
    [
        'supplier_name',
        'account_balance',
        'supplier_comment',
    ],
) }}

select * from final
